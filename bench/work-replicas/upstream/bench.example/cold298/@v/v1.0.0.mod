module bench.example/cold298

go 1.21
