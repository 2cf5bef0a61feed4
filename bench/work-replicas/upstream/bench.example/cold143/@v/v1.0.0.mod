module bench.example/cold143

go 1.21
