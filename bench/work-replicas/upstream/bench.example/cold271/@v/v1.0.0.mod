module bench.example/cold271

go 1.21
