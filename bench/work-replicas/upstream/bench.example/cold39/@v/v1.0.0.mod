module bench.example/cold39

go 1.21
