module bench.example/cold74

go 1.21
