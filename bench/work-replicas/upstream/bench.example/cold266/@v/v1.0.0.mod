module bench.example/cold266

go 1.21
