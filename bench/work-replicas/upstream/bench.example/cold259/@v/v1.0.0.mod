module bench.example/cold259

go 1.21
