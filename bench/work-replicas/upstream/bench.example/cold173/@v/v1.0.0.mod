module bench.example/cold173

go 1.21
