module bench.example/cold28

go 1.21
