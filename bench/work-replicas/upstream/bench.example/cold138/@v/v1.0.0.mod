module bench.example/cold138

go 1.21
