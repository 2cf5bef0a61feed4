module bench.example/cold79

go 1.21
