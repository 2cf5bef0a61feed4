module bench.example/cold124

go 1.21
