module bench.example/cold61

go 1.21
