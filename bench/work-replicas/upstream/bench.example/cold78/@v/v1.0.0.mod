module bench.example/cold78

go 1.21
