module bench.example/cold29

go 1.21
