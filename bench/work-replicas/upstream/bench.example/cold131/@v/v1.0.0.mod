module bench.example/cold131

go 1.21
