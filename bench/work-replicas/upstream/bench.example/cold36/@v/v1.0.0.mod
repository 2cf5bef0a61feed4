module bench.example/cold36

go 1.21
