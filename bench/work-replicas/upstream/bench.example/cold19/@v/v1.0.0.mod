module bench.example/cold19

go 1.21
