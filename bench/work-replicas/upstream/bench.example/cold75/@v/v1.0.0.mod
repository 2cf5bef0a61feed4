module bench.example/cold75

go 1.21
