module bench.example/cold195

go 1.21
