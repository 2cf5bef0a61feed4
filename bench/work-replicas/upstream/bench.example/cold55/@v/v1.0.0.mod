module bench.example/cold55

go 1.21
