module bench.example/cold24

go 1.21
