module bench.example/cold72

go 1.21
