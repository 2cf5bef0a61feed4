module bench.example/cold25

go 1.21
