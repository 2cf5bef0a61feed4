module bench.example/cold91

go 1.21
