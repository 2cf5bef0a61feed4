module bench.example/cold158

go 1.21
