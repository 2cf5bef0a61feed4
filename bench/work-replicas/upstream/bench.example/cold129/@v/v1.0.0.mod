module bench.example/cold129

go 1.21
