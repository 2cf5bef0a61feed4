module bench.example/cold20

go 1.21
