module bench.example/cold149

go 1.21
