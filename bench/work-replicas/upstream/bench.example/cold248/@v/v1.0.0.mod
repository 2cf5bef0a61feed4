module bench.example/cold248

go 1.21
