module bench.example/cold65

go 1.21
