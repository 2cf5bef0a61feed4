module bench.example/cold44

go 1.21
