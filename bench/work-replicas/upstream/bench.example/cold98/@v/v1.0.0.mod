module bench.example/cold98

go 1.21
