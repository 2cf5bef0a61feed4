module bench.example/cold144

go 1.21
