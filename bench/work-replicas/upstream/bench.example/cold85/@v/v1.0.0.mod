module bench.example/cold85

go 1.21
