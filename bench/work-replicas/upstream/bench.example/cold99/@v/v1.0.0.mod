module bench.example/cold99

go 1.21
