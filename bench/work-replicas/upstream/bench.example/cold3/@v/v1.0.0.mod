module bench.example/cold3

go 1.21
