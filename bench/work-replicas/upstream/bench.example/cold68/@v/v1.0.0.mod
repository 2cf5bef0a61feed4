module bench.example/cold68

go 1.21
