module bench.example/cold0

go 1.21
