module bench.example/cold165

go 1.21
