module bench.example/cold159

go 1.21
