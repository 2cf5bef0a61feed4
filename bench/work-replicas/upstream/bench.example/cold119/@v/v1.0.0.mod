module bench.example/cold119

go 1.21
