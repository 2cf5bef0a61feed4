module bench.example/cold66

go 1.21
