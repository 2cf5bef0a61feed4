module bench.example/cold51

go 1.21
