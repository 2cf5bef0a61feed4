module bench.example/cold212

go 1.21
