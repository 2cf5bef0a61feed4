module bench.example/cold122

go 1.21
