module bench.example/cold107

go 1.21
