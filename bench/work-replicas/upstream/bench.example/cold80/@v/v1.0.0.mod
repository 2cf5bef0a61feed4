module bench.example/cold80

go 1.21
