module bench.example/cold101

go 1.21
