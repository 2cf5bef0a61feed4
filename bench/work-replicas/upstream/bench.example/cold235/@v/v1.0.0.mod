module bench.example/cold235

go 1.21
