module bench.example/cold114

go 1.21
