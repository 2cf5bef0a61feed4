module bench.example/cold34

go 1.21
