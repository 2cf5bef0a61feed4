module bench.example/cold133

go 1.21
