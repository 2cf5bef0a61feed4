module bench.example/cold111

go 1.21
